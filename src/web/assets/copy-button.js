// Copy buttons: <button data-copy-target="ID"> copies the value (or text) of the element with that id.
// Loaded as a module by the pages that have one; without it the value stays selectable by hand.
for (const button of document.querySelectorAll('button[data-copy-target]')) {
  const target = document.getElementById(button.dataset.copyTarget);
  if (!target) continue;
  button.hidden = false;
  const label = button.textContent;
  button.addEventListener('click', async () => {
    const text = 'value' in target ? target.value : target.textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      if (typeof target.select === 'function') target.select();
      button.textContent = 'Press Ctrl+C to copy';
    }
    setTimeout(() => {
      button.textContent = label;
    }, 2000);
  });
}
