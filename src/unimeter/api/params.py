"""Parameter types shared by the routes: dates and times within the bounds of kit/times.py.

A value outside them fails validation like any other bad parameter (a 400 naming it),
before a route does arithmetic with it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator

from unimeter.kit.times import DAY_BOUNDS, check_day

Day = Annotated[dt.date, AfterValidator(check_day)]
Moment = Annotated[dt.datetime, AfterValidator(check_day)]
DAY_RANGE = f"from {DAY_BOUNDS}"
