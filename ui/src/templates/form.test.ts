import { describe, expect, it } from "vitest";
import { draftFromForm, emptyForm, formFromTemplate, patchFromForm } from "./form";
import type { Template } from "../bindings/Template";

const stored: Template = {
  id: "0b6c0f9e-0000-4000-8000-000000000000",
  name: "shop-eu",
  account: "alice",
  exit: "socks5://alice@127.0.0.1:1080",
  exit_has_password: true,
  pinned_egress_ip: null,
  timezone: "Europe/Berlin",
  locale: "de-DE",
  start_urls: ["https://a.example/", "https://b.example/"],
  tags: ["eu", "shop"],
  notes: "",
  rules: {
    refresh: ["*/api/refresh*"],
    login: ["*/login*"],
    verification: [],
    sensitive: [{ action: "payment", methods: ["POST", "PUT"], url: "*/checkout*" }],
  },
  automation: true,
  require_consistent: true,
  version: 4,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

describe("form conversion", () => {
  it("splits start URLs by line and tags by comma", () => {
    const d = draftFromForm({ ...emptyForm(), name: "x", startUrls: " https://a/ \n\nhttps://b/", tags: "a, ,b" });
    expect(d.start_urls).toEqual(["https://a/", "https://b/"]);
    expect(d.tags).toEqual(["a", "b"]);
  });

  it("never sends an empty password (that would mean: keep the stored one)", () => {
    expect(draftFromForm(emptyForm()).exit_password).toBeUndefined();
    expect(patchFromForm({ ...emptyForm(), exitPassword: "pw" }).exit_password).toBe("pw");
  });

  it("round-trips a stored template through the form", () => {
    const p = patchFromForm(formFromTemplate(stored));
    expect(p).toMatchObject({
      name: "shop-eu",
      exit: "socks5://alice@127.0.0.1:1080",
      start_urls: stored.start_urls,
      tags: stored.tags,
      pinned_egress_ip: "",
      automation: true,
    });
    expect(p.exit_password).toBeUndefined();
  });

  it("keeps the health rules of a template and leaves a new one on the defaults", () => {
    expect(patchFromForm(formFromTemplate(stored)).rules).toEqual(stored.rules);
    expect(draftFromForm({ ...emptyForm(), name: "x" }).rules).toBeUndefined();
  });

  it("leaves the automation port off on a new template", () => {
    expect(draftFromForm({ ...emptyForm(), name: "x" }).automation).toBe(false);
    expect(draftFromForm({ ...emptyForm(), name: "x" }).require_consistent).toBe(false);
    expect(patchFromForm(formFromTemplate(stored)).require_consistent).toBe(true);
  });

  it("edits sensitive-action rules as ACTION METHODS URL lines", () => {
    const f = formFromTemplate(stored);
    expect(f.sensitiveRules).toBe("payment POST,PUT */checkout*");
    const p = patchFromForm({ ...f, sensitiveRules: "payment POST,PUT */checkout*\nexport * */export*" });
    expect(p.rules?.sensitive).toEqual([
      { action: "payment", methods: ["POST", "PUT"], url: "*/checkout*" },
      { action: "export", methods: ["*"], url: "*/export*" },
    ]);
    // A malformed line reaches the core as it is, which refuses it at the field.
    expect(patchFromForm({ ...f, sensitiveRules: "just-one-word" }).rules?.sensitive).toEqual([
      { action: "just-one-word", methods: [], url: "" },
    ]);
  });
});
