// A link to a place inside a folded section (a figure's link to its runs on the provenance page) opens the
// sections around it and scrolls to it.
function openTarget() {
  const id = decodeURIComponent(window.location.hash.slice(1));
  const target = id && document.getElementById(id);
  if (!target) return;
  for (let node = target.parentElement; node; node = node.parentElement) {
    if (node.tagName === "DETAILS") node.open = true;
  }
  target.scrollIntoView();
}
window.addEventListener("DOMContentLoaded", openTarget);
window.addEventListener("hashchange", openTarget);
