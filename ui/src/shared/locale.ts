/**
 * Makes `navigator.language` a valid BCP 47 tag before any module reads it. WebKitGTK passes the
 * POSIX locale through, so under `LANG=C` it is "C", and `new Intl.NumberFormat("C")` throws
 * (uPlot builds one when its module loads): the whole page would fail to start. The chart module
 * imports this before uPlot.
 */
export function validLanguage(tag: string | undefined): string {
  try {
    if (tag && Intl.getCanonicalLocales(tag).length > 0) return tag;
  } catch {
    // Not a language tag (e.g. "C", "POSIX", "en_US.UTF-8").
  }
  const guess = tag?.split(/[.@]/)[0]?.replace("_", "-");
  try {
    if (guess && Intl.getCanonicalLocales(guess).length > 0) return guess;
  } catch {
    // Fall through to the default.
  }
  return "en-US";
}

if (typeof navigator !== "undefined") {
  const valid = validLanguage(navigator.language);
  if (valid !== navigator.language) {
    Object.defineProperty(navigator, "language", { get: () => valid, configurable: true });
  }
}
