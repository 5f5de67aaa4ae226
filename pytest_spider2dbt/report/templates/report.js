"use strict";
(() => {
  const table = document.getElementById("instance-table");
  const rows = Array.from(table.tBodies[0].rows);
  const sections = Array.from(document.querySelectorAll("section.instance"));
  const category = document.getElementById("filter-category");
  const text = document.getElementById("filter-text");
  const count = document.getElementById("filter-count");

  const kept = (element) => (!category.value || element.dataset.category === category.value)
    && (!text.value.trim() || element.dataset.search.includes(text.value.trim().toLowerCase()));

  function filter() {
    let shown = 0;
    for (const row of rows) {
      row.hidden = !kept(row);
      shown += row.hidden ? 0 : 1;
    }
    for (const section of sections) section.hidden = !kept(section);
    count.textContent = `${shown} of ${rows.length} shown`;
  }

  function followHash() {
    const wanted = /^#category=([a-z_]+)$/.exec(location.hash);
    if (wanted) {
      category.value = Array.from(category.options).some((o) => o.value === wanted[1]) ? wanted[1] : "";
      filter();
      table.scrollIntoView();
      return;
    }
    const target = location.hash.length > 1 ? document.getElementById(location.hash.slice(1)) : null;
    if (target && target.hidden) {
      category.value = "";
      text.value = "";
      filter();
      target.scrollIntoView();
    }
  }

  function sortBy(header) {
    const column = header.cellIndex;
    const numeric = header.dataset.sort === "number";
    const ascending = header.getAttribute("aria-sort") !== "ascending";
    for (const other of table.tHead.rows[0].cells) other.removeAttribute("aria-sort");
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const key = (row) => {
      const cell = row.cells[column];
      const value = cell.dataset.value ?? cell.textContent.trim();
      if (!numeric) return value.toLowerCase();
      return value === "" ? -Infinity : Number.parseFloat(value);
    };
    const sorted = rows.slice().sort((a, b) => {
      const x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    table.tBodies[0].append(...sorted);
  }

  for (const header of table.tHead.rows[0].cells) {
    if (header.dataset.sort) header.querySelector("button").addEventListener("click", () => sortBy(header));
  }
  category.addEventListener("change", filter);
  text.addEventListener("input", filter);
  window.addEventListener("hashchange", followHash);
  filter();
  followHash();
})();
