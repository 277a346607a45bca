// The inbox's "select every message on this page" box (the page works without it).
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) return;
  const boxes = () => document.querySelectorAll('#inbox-table input[name="ids"]');
  all.addEventListener("change", () => boxes().forEach((box) => { box.checked = all.checked; }));
});
