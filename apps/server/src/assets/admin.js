// Small progressive enhancements for the admin page; everything works without them.
(() => {
  // Confirm destructive actions.
  for (const form of document.querySelectorAll('form[data-confirm]')) {
    form.addEventListener('submit', (ev) => {
      if (!window.confirm(form.getAttribute('data-confirm'))) ev.preventDefault();
    });
  }

  // Copy buttons for secrets shown once.
  for (const btn of document.querySelectorAll('button[data-copy]')) {
    btn.hidden = false;
    btn.addEventListener('click', async () => {
      const el = document.getElementById(btn.getAttribute('data-copy'));
      if (!el) return;
      try {
        await navigator.clipboard.writeText(el.textContent.trim());
        btn.textContent = 'Copied';
      } catch {
        const range = document.createRange();
        range.selectNodeContents(el);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
    });
  }

  // Rule editor: show the fieldset of the chosen kind (and confirmation mode / price rule) without a
  // reload. Hidden fieldsets are also disabled, so only the shown fields are submitted. The
  // "Change kind" submits that do this without JavaScript are removed.
  for (const form of document.querySelectorAll('form[data-rule-form]')) {
    const sync = () => {
      for (const fs of form.querySelectorAll('fieldset[data-when]')) {
        const spec = fs.getAttribute('data-when') || '';
        const at = spec.indexOf('=');
        const control = form.elements.namedItem(spec.slice(0, at));
        const on = !!control && 'value' in control && control.value === spec.slice(at + 1);
        fs.hidden = !on;
        fs.disabled = !on;
      }
    };
    for (const el of form.querySelectorAll('[data-nojs]')) el.remove();
    form.addEventListener('change', (ev) => {
      if (ev.target instanceof HTMLSelectElement) sync();
    });
    sync();
    // Typing into the JSON box means using it.
    const json = form.querySelector('#f-paramsJson');
    const use = form.querySelector('#f-useJson');
    if (json && use)
      json.addEventListener('input', () => {
        use.checked = true;
      });
  }
})();
