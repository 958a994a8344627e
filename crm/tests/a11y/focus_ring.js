// Run by test_browser_a11y.py after each Tab: what has the focus and whether one can see it.
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  let style = getComputedStyle(el);
  if (el.type === "date" && !el.matches(":focus")) {
    // The focus is on the date field's own picker button, inside the field.
    style = getComputedStyle(el, "::-webkit-calendar-picker-indicator");
    if (style.opacity !== "1") return { element: "date picker button (invisible)", visible: false };
    return { element: "date picker button", visible: true };
  }
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 1;
  // A ring drawn as a box-shadow: it must have some width and a colour one can see.
  const shadow = (style.boxShadow || "none").split(/,(?![^(]*\))/).some((part) => {
    const m = part.trim().match(/^(rgba?\([^)]+\))\s+(-?[\d.]+)px\s+(-?[\d.]+)px\s+(-?[\d.]+)px\s+(-?[\d.]+)px/);
    if (!m) return false;
    const channels = m[1].replace(/rgba?\(|\)/g, "").split(/[ ,/]+/).filter(Boolean).map(Number);
    const alpha = channels.length > 3 ? channels[3] : 1;
    return alpha >= 0.3 && parseFloat(m[5]) >= 1;
  });
  return {
    element: `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${(el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 30)}"`,
    visible: Boolean(outline || shadow),
    ring: `${style.outlineStyle} ${style.outlineWidth} / ${style.boxShadow}`,
    top: el.getBoundingClientRect().top + window.scrollY,
  };
}
