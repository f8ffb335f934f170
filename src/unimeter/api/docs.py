"""``/docs``: Swagger UI served from the installed package, so it works offline.

FastAPI's default page loads Swagger UI from a CDN and stays blank without one. The assets
come from the ``fastapi-offline`` distribution (Swagger UI, Apache-2.0), read at run time
from its package data; nothing is downloaded.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse, Response

from .errors import ApiError

ASSETS = "/docs/assets"
_MEDIA = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}


def install(app: FastAPI, *, title: str, openapi_url: str) -> None:
    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            oauth2_redirect_url=None,
            # No badge that would ask validator.swagger.io about our document.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        media_type = _MEDIA.get(name)
        if media_type is None:
            raise ApiError(404, f"no docs asset {name}")
        body = files("fastapi_offline").joinpath("static", name).read_bytes()
        return Response(body, media_type=media_type, headers={"Cache-Control": "max-age=86400"})
