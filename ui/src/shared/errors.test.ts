import { describe, expect, it } from "vitest";
import { fieldForCode, toErrorPayload } from "./errors";

describe("fieldForCode", () => {
  it("puts validation errors next to their field by code", () => {
    expect(fieldForCode("invalid_timezone", "timezone")).toBe("timezone");
    expect(fieldForCode("duplicate_name", "name")).toBe("name");
    expect(fieldForCode("invalid_port", "exit")).toBe("exit");
    expect(fieldForCode("unsupported_scheme", "exit")).toBe("exit");
    expect(fieldForCode("invalid_start_url", "start_urls")).toBe("start_urls");
    expect(fieldForCode("keyring_unavailable", null)).toBe("exit_password");
  });

  it("uses the payload field only for the shared free-text code", () => {
    expect(fieldForCode("invalid_text", "notes")).toBe("notes");
    expect(fieldForCode("invalid_text", "not-a-field")).toBeNull();
  });

  it("shows non-field errors above the form", () => {
    expect(fieldForCode("store_error", null)).toBeNull();
  });
});

describe("toErrorPayload", () => {
  it("keeps core payloads and wraps anything else", () => {
    const p = { code: "invalid_name", field: "name", message: "bad" } as const;
    expect(toErrorPayload(p)).toBe(p);
    expect(toErrorPayload(new Error("boom"))).toMatchObject({ code: "io_error", message: "boom" });
  });
});
