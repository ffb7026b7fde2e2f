// The event stream's cursor and the output pages' query: hostile values refused with the field named.
import { describe, expect, it } from "vitest";
import { HOSTILE_VALUES } from "../safety/hostile-values";
import { parseEventCursor, parseOutputPageQuery } from "./query-params";

describe("live output query parameters", () => {
  it("the event cursor: a whole number, Last-Event-ID before ?after=", () => {
    expect(parseEventCursor(null, null)).toEqual({ ok: true, value: 0 });
    expect(parseEventCursor(null, "42")).toEqual({ ok: true, value: 42 });
    expect(parseEventCursor("77", "42")).toEqual({ ok: true, value: 77 });
    const wrong: string[] = [];
    for (const value of HOSTILE_VALUES) {
      if (/^\d{1,15}$/.test(value)) continue;
      const after = parseEventCursor(null, value);
      if (after.ok || !after.error.startsWith("after: ")) wrong.push(`after=${JSON.stringify(value.slice(0, 40))}`);
      const header = parseEventCursor(value, "1");
      if (header.ok || !header.error.startsWith("Last-Event-ID: ")) wrong.push(`Last-Event-ID=${JSON.stringify(value.slice(0, 40))}`);
    }
    expect(wrong, wrong.join("\n")).toEqual([]);
  });

  it("the output page: hostRun, before and limit checked", () => {
    expect(parseOutputPageQuery(new URLSearchParams("hostRun=d-1-i-0a&before=10&limit=500"))).toEqual({ ok: true, value: { hostRun: "d-1-i-0a", before: 10, limit: 500 } });
    expect(parseOutputPageQuery(new URLSearchParams("hostRun=d-1-i-0a"))).toEqual({ ok: true, value: { hostRun: "d-1-i-0a", before: null, limit: 2000 } });
    expect(parseOutputPageQuery(new URLSearchParams("hostRun=x&limit=0"))).toMatchObject({ ok: false, error: expect.stringMatching(/^limit: /) });
    expect(parseOutputPageQuery(new URLSearchParams("hostRun=x&limit=10001"))).toMatchObject({ ok: false, error: expect.stringMatching(/^limit: /) });
    const wrong: string[] = [];
    for (const value of HOSTILE_VALUES) {
      const run = parseOutputPageQuery(new URLSearchParams({ hostRun: value }));
      if (run.ok ? !/^[A-Za-z0-9_.-]+$/.test(run.value.hostRun) : !run.error.startsWith("hostRun: ")) wrong.push(`hostRun=${JSON.stringify(value.slice(0, 40))}`);
      if (/^\d{1,15}$/.test(value)) continue;
      const before = parseOutputPageQuery(new URLSearchParams({ hostRun: "x", before: value }));
      if (before.ok || !before.error.startsWith("before: ")) wrong.push(`before=${JSON.stringify(value.slice(0, 40))}`);
    }
    expect(wrong, wrong.join("\n")).toEqual([]);
  });
});
