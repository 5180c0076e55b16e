// Runs when the sources (or articles) panel mounts: links [n] markers to their source
// card and opens the article viewer (a <dialog>); the article comes from the
// `article_view` server function. `element` and `server` are given by gr.HTML.
const panel = element;
function viewer() {
  let d = document.getElementById('qa-viewer');
  if (d) return d;
  d = document.createElement('dialog');
  d.id = 'qa-viewer';
  d.setAttribute('aria-labelledby', 'qa-viewer-title');
  d.innerHTML = '<div class="qa-viewer-head"><h2 class="qa-viewer-title" id="qa-viewer-title"></h2>' +
    '<button type="button" class="qa-viewer-close"></button></div>' +
    '<div class="qa-viewer-body" tabindex="0"></div>';
  document.body.appendChild(d);
  d.querySelector('.qa-viewer-close').addEventListener('click', () => d.close());
  d.addEventListener('click', (e) => { if (e.target === d) d.close(); });
  return d;
}
async function openArticle(btn) {
  const d = viewer();
  const lang = btn.dataset.lang || 'en';
  const title = d.querySelector('.qa-viewer-title');
  const body = d.querySelector('.qa-viewer-body');
  const close = d.querySelector('.qa-viewer-close');
  title.textContent = '';
  body.textContent = btn.dataset.loading || '\u2026';
  close.textContent = btn.dataset.close || '\u00d7';
  d.setAttribute('lang', lang);
  if (!d.open) d.showModal();
  try {
    const res = await server.article_view({article_id: btn.dataset.article,
      start: Number(btn.dataset.start), end: Number(btn.dataset.end), lang: lang});
    title.textContent = res.title;
    close.textContent = res.close;
    body.innerHTML = res.html;  // escaped by the server
    const mark = body.querySelector('#qa-hl');
    if (mark) {
      mark.scrollIntoView({block: 'center'});
      body.focus({preventScroll: true});
    }
  } catch (err) {
    body.textContent = btn.dataset.failed || '';
  }
}
panel.addEventListener('click', (e) => {
  const btn = e.target.closest('button.qa-view');
  if (btn) { e.preventDefault(); openArticle(btn); }
});
if (!window.__qaCiteLinks) {
  window.__qaCiteLinks = true;
  // after a jump to a source, a button brings the reader back to the answer they left
  const backTo = (link) => {
    let back = document.getElementById('qa-back');
    if (!back) {
      back = document.createElement('button');
      back.type = 'button';
      back.id = 'qa-back';
      back.textContent = '\u2191';
      document.body.appendChild(back);
      back.addEventListener('click', () => {
        const target = back.__qaLink;
        back.hidden = true;
        if (target && target.isConnected) {
          target.scrollIntoView({block: 'center'});
          target.focus({preventScroll: true});
        }
      });
      window.addEventListener('scroll', () => {
        const target = back.__qaLink;
        if (target && target.isConnected && back.__qaArmed) {
          const r = target.getBoundingClientRect();
          if (r.top >= 0 && r.bottom <= window.innerHeight) back.hidden = true;
        }
      }, {passive: true});
    }
    const fr = (document.querySelector('#qa-header .qa-header') || {}).lang === 'fr';
    back.textContent = fr ? '\u2191 Revenir à la réponse' : '\u2191 Back to the answer';
    back.__qaLink = link;
    back.hidden = false;
    back.__qaArmed = false;  // the jump's own scrolling must not hide it
    clearTimeout(back.__qaTimer);
    back.__qaTimer = setTimeout(() => { back.__qaArmed = true; }, 1200);
  };
  const reveal = (card, link) => {
    if (link) backTo(link);
    const section = card.closest('details');
    if (section) section.open = true;
    card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
    card.classList.remove('qa-flash');
    void card.offsetWidth;
    card.classList.add('qa-flash');
    const btn = card.querySelector('button.qa-view');
    if (btn) btn.focus({preventScroll: true});
  };
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a.qa-cite');
    if (!a) return;
    const id = (a.getAttribute('href') || '').replace(/^#/, '');
    e.preventDefault();
    e.stopPropagation();
    if (!id) return;
    const card = document.getElementById(id);
    if (card && card.offsetParent) { reveal(card, a); return; }
    // the card sits in a tab that is not shown (Articles, Conversations): show Sources first
    const tab = document.querySelector('#qa-tabs [role="tab"]');
    if (tab) tab.click();
    let tries = 0;
    const wait = () => {
      const c = document.getElementById(id);
      if (c && c.offsetParent) reveal(c, a);
      else if (tries++ < 20) setTimeout(wait, 50);
    };
    wait();
  }, true);
}
