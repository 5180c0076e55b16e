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
  // The Articles tab's search: every word of the query must occur in the title or the
  // details line (accents and case folded).
  const fold = (s) => (s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  function filterArticles() {
    const input = document.querySelector('#qa-search input, #qa-search textarea');
    const list = document.getElementById('qa-articles');
    if (!input || !list) return;
    const words = fold(input.value).split(/\s+/).filter(Boolean);
    let shown = 0;
    list.querySelectorAll('.qa-art').forEach((li) => {
      const hay = fold(li.textContent + ' ' + (li.dataset.article || ''));
      const ok = words.every((w) => hay.includes(w));
      if (li.hidden === ok) li.hidden = !ok;
      if (ok) shown += 1;
    });
    const count = list.querySelector('.qa-art-count');
    if (count) {
      const text = count.textContent.replace(/\d+/, String(shown));
      if (text !== count.textContent) count.textContent = text;  // no change, no new mutation
    }
  }
  document.addEventListener('input', (e) => {
    if (!e.target || !e.target.closest) return;
    if (e.target.closest('#qa-input')) counter();
    if (e.target.closest('#qa-search')) filterArticles();
  }, true);
  // the list is re-rendered by the server (upload, language): keep the filter applied
  new MutationObserver(() => {
    const list = document.getElementById('qa-articles');
    if (list && !list.__qaWatched) {
      list.__qaWatched = true;
      new MutationObserver(filterArticles).observe(list, {childList: true, subtree: true});
    }
  }).observe(document.documentElement, {childList: true, subtree: true});
  // the box is emptied by the server after a question: follow it
  setInterval(counter, 500);

  // An answer as plain text: its sentences with their [n] markers, then "[n] title".
  function answerText(answer) {
    if (!answer) return '';
    const copy = answer.cloneNode(true);
    copy.querySelectorAll('.qa-tools, .qa-notice, .qa-understood, .qa-badge, .qa-rel-intro, .qa-rel-list')
      .forEach((el) => el.remove());
    const lines = Array.from(copy.querySelectorAll('p')).map((p) => p.textContent.trim()).filter(Boolean);
    const seen = new Set();
    const cites = [];
    answer.querySelectorAll('a.qa-cite:not(.qa-rel-link)').forEach((a) => {
      const n = a.textContent.trim();
      if (!seen.has(n)) { seen.add(n); cites.push(n + ' ' + (a.getAttribute('title') || '')); }
    });
    return lines.join('\n') + (cites.length ? '\n\n' + cites.join('\n') : '');
  }
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
      const text = answerText(copy.closest('.qa-answer'));
      const done = () => {
        const label = copy.textContent;
        const fr = (document.querySelector('#qa-header .qa-header') || {}).lang === 'fr';
        copy.textContent = fr ? 'Copié' : 'Copied';
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
