// Progressive enhancement only: every page works without it.
"use strict";

function cellValue(row, index) {
  const cell = row.cells[index];
  if (!cell) return "";
  return cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
}

function sortTable(table, index, numeric, ascending) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows).filter((r) => r.cells.length > 1);
  rows.sort((a, b) => {
    const x = cellValue(a, index);
    const y = cellValue(b, index);
    const order = numeric ? parseFloat(x || "0") - parseFloat(y || "0") : x.localeCompare(y);
    return ascending ? order : -order;
  });
  rows.forEach((r) => body.appendChild(r));
}

document.querySelectorAll("table.sortable").forEach((table) => {
  table.querySelectorAll("th[data-sort]").forEach((th) => {
    th.tabIndex = 0;
    const activate = () => {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th[aria-sort]").forEach((o) => o.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      sortTable(table, th.cellIndex, th.dataset.sort === "number", ascending);
    };
    th.addEventListener("click", activate);
    th.addEventListener("keydown", (e) => { if (e.key === "Enter") activate(); });
  });
});

document.querySelectorAll("[data-autosubmit]").forEach((field) => {
  field.addEventListener("change", () => field.form.submit());
});
