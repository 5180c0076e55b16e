// Page-wide behaviour of the web chat, loaded once in <head>:
// the theme (system setting, or the user's pick kept in localStorage), the input's
// character counter and empty-Send state, and the per-answer "copy" button.
(function () {
  const KEY = 'qa-theme';
  function stored() { try { return localStorage.getItem(KEY); } catch (e) { return null; } }
  function apply(theme) {
    if (theme !== 'dark' && theme !== 'light') return;
    document.body.classList.toggle('dark', theme === 'dark');
  }
  // Gradio sets the system theme when it mounts; re-apply the user's pick after it.
  function keepPick() {
    const pick = stored();
    if (!pick) return;
    apply(pick);
    new MutationObserver(() => {
      const want = stored();
      if (want && document.body.classList.contains('dark') !== (want === 'dark')) apply(want);
    }).observe(document.body, {attributes: true, attributeFilter: ['class']});
  }
  if (document.body) keepPick(); else document.addEventListener('DOMContentLoaded', keepPick);

  function counter() {
    const box = document.querySelector('#qa-input textarea');
    const out = document.getElementById('qa-counter');
    const send = document.getElementById('qa-send');
    if (!box) return;
    const text = box.value.trim().replace(/\s+/g, ' ');
    if (out) {
      const max = Number(out.dataset.max || 1000);
      out.textContent = text.length ? text.length + ' / ' + max : '';
      out.classList.toggle('qa-over', text.length > max);
    }
    if (send) send.disabled = text.length === 0;
  }
  document.addEventListener('input', (e) => {
    if (e.target && e.target.closest && e.target.closest('#qa-input')) counter();
  }, true);
  // the box is emptied by the server after a question: follow it
  setInterval(counter, 500);

  document.addEventListener('click', (e) => {
    const theme = e.target.closest && e.target.closest('#qa-theme');
    if (theme) {
      const next = document.body.classList.contains('dark') ? 'light' : 'dark';
      try { localStorage.setItem(KEY, next); } catch (err) { /* private mode */ }
      apply(next);
      return;
    }
    const copy = e.target.closest && e.target.closest('button.qa-copy');
    if (copy) {
      e.preventDefault();
      const text = copy.dataset.copy || '';
      const done = () => {
        const label = copy.textContent;
        copy.textContent = copy.dataset.done || '✓';
        copy.classList.add('qa-copied');
        setTimeout(() => { copy.textContent = label; copy.classList.remove('qa-copied'); }, 1500);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, () => { window.__qaCopied = text; done(); });
      } else { window.__qaCopied = text; done(); }
      window.__qaCopied = text;
    }
  }, true);
})();
