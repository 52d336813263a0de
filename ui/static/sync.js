(q) => {
  const limit = LIMIT;
  const text = q || "";
  const n = text.length;
  const ok = !window.ragBusy && text.trim().length > 0 && n <= limit;
  let counter = "";
  if (n > limit) {
    counter = `<span class="over" role="alert">${n} / ${limit} · 超出字数上限，请缩短 Over the limit, please shorten</span>`;
  } else if (n >= Math.floor(limit * 0.8)) {
    counter = `<span class="near">${n} / ${limit}</span>`;
  }
  return [{ __type__: "update", interactive: ok }, counter];
}
