import { describe, expect, it } from "vitest";
import { validLanguage } from "./locale";

describe("validLanguage", () => {
  it("keeps a real tag and repairs POSIX locales", () => {
    expect(validLanguage("de-DE")).toBe("de-DE");
    expect(validLanguage("C")).toBe("en-US");
    expect(validLanguage("en_GB")).toBe("en-GB");
    expect(validLanguage("ja_JP.UTF-8")).toBe("ja-JP");
    expect(validLanguage(undefined)).toBe("en-US");
  });
});
