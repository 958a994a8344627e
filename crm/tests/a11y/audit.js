// Run by test_browser_a11y.py in the page: a list of accessibility problems found.
() => {
  const problems = [];
  const describe = (el) => {
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim();
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}` +
      `${el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : ""}` +
      ` "${text.slice(0, 40)}"`;
  };
  const visible = (el) => {
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") return false;
    const box = el.getBoundingClientRect();
    return box.width > 1 && box.height > 1 && !el.closest("[hidden], [aria-hidden='true']");
  };

  // 1. The page says its language and has one main heading.
  if (!document.documentElement.lang) problems.push("html has no lang");
  if (document.querySelectorAll("h1").length !== 1) problems.push("page needs exactly one h1");
  if (!document.querySelector("main")) problems.push("no <main> landmark");

  // 2. Every control has an accessible name.
  const nameOf = (el) => {
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
    const ids = el.getAttribute("aria-labelledby");
    if (ids) return ids.split(/\s+/).map((id) => document.getElementById(id)?.textContent || "").join(" ");
    if (el.labels && el.labels.length) return Array.from(el.labels).map((l) => l.textContent).join(" ");
    if (el.tagName === "BUTTON" || el.tagName === "A" || el.getAttribute("role") === "button")
      return el.textContent;
    if (el.type === "submit" || el.type === "button") return el.value;
    return el.getAttribute("title") || "";
  };
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href], [role=button]")) {
    if (!visible(el)) continue;
    if (!nameOf(el).trim()) problems.push("no accessible name: " + describe(el));
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push("img without alt: " + img.src);
  }
  for (const canvas of document.querySelectorAll("canvas")) {
    if (!canvas.getAttribute("aria-label") && !canvas.getAttribute("aria-labelledby") && !canvas.textContent.trim())
      problems.push("chart without a text alternative: " + describe(canvas));
  }

  // 3. Text contrast against the background actually behind it.
  const rgba = (value) => {
    const m = value.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const parts = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const blend = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  const background = (el) => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.backgroundImage !== "none" && !style.backgroundImage.startsWith("url(")) return null;
      const color = rgba(style.backgroundColor);
      if (color && color.a > 0) {
        layers.push(color);
        if (color.a >= 1) break;
      }
    }
    let result = { r: 255, g: 255, b: 255, a: 1 };
    for (const layer of layers.reverse()) result = blend(layer, result);
    return result;
  };
  const luminance = (c) => {
    const channel = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const seen = new Set();
  for (const el of document.querySelectorAll("body *")) {
    if (["SCRIPT", "STYLE", "CANVAS", "SVG", "OPTION"].includes(el.tagName)) continue;
    const ownText = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!ownText || !visible(el)) continue;
    if (el.closest(".visually-hidden")) continue;
    const style = getComputedStyle(el);
    if (el.disabled || el.closest("[disabled]")) continue;  // WCAG exempts inactive controls
    const bg = background(el);
    const fg = rgba(style.color);
    if (!bg || !fg) continue;
    const value = ratio(blend(fg, bg), bg);
    const size = parseFloat(style.fontSize);
    const bold = parseInt(style.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    const needed = large ? 3 : 4.5;
    if (value + 0.005 < needed) {
      const key = describe(el);
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`contrast ${value.toFixed(2)} < ${needed}: ${key}`);
      }
    }
  }
  return problems;
}
