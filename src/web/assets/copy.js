// Copy buttons: <button type="button" data-copy="ID" hidden> copies the value of input #ID, or the text of
// element #ID (one line per list item). The buttons stay hidden without this script: nothing on the page
// depends on it, the text can always be selected by hand.

/** @param {HTMLElement} target */
function textOf(target) {
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return target.value;
  const items = target.querySelectorAll('li');
  if (items.length > 0) return Array.from(items, (item) => (item.textContent ?? '').trim()).join('\n') + '\n';
  return (target.textContent ?? '').trim();
}

/** Select the target's text, so that Ctrl+C copies it when the clipboard cannot be written. @param {HTMLElement} target */
function select(target) {
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) {
    target.focus();
    target.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(target);
  const selection = window.getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}

/** @param {string} text @param {HTMLElement} target @returns {Promise<boolean>} */
async function copy(text, target) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    select(target);
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

const announcer = document.createElement('div');
announcer.className = 'visually-hidden';
announcer.setAttribute('role', 'status');
document.body.append(announcer);

for (const button of document.querySelectorAll('button[data-copy]')) {
  if (!(button instanceof HTMLButtonElement)) continue;
  const target = document.getElementById(button.dataset.copy ?? '');
  if (!target) continue;
  const label = button.textContent ?? 'Copy';
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  button.hidden = false;
  button.addEventListener('click', async () => {
    const copied = await copy(textOf(target), target);
    button.textContent = copied ? 'Copied' : 'Selected: press Ctrl+C';
    announcer.textContent = copied ? 'Copied to the clipboard.' : 'Selected. Press Ctrl+C or ⌘C to copy.';
    clearTimeout(timer);
    timer = setTimeout(() => {
      button.textContent = label;
    }, 2500);
  });
}
