// The search box's shortcut: `/` anywhere outside a text field focuses the search box of the page (the results
// page's own box when there is one, else the top bar's) and selects its text; Escape in it leaves it. The forms
// are plain GET forms: everything works without this script.

/** @param {EventTarget | null} target */
function isTyping(target) {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

/** @returns {HTMLInputElement | null} */
function searchBox() {
  const boxes = Array.from(document.querySelectorAll('input[data-search-box]')).filter((box) => box instanceof HTMLInputElement);
  // the page's own box (results page, project column) before the top bar's
  const own = boxes.find((box) => !box.closest('.topbar') && box.offsetParent !== null);
  return /** @type {HTMLInputElement | null} */ (own ?? boxes[0] ?? null);
}

document.addEventListener('keydown', (event) => {
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  if (isTyping(event.target)) return;
  const box = searchBox();
  if (!box) return;
  event.preventDefault();
  box.focus();
  box.select();
});

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && event.target instanceof HTMLInputElement && event.target.hasAttribute('data-search-box')) event.target.blur();
});
