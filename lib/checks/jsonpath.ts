// The small JSON path language of check expectations: a.b[0].c, [*] or * for every element or value.

export interface Selected {
  /** The concrete path of this value, e.g. data.services[1].status (or data.services.audit.status). */
  path: string;
  value: unknown;
}

type Step = { key: string } | { index: number } | { every: true };

export function parsePath(path: string): Step[] {
  const steps: Step[] = [];
  for (const segment of path.split(".")) {
    const m = /^([^[\]]*)((\[(\*|\d+)\])*)$/.exec(segment);
    if (!m) throw new Error(`bad JSON path segment "${segment}"`);
    if (m[1] === "*") steps.push({ every: true });
    else if (m[1]) steps.push({ key: m[1] });
    for (const b of m[2]!.matchAll(/\[(\*|\d+)\]/g)) steps.push(b[1] === "*" ? { every: true } : { index: Number(b[1]) });
  }
  return steps;
}

/** Every value the path reaches; missing keys reach nothing. */
export function select(root: unknown, path: string): Selected[] {
  let current: Selected[] = [{ path: "", value: root }];
  const join = (base: string, key: string) => (base ? `${base}.${key}` : key);
  for (const step of parsePath(path)) {
    const next: Selected[] = [];
    for (const { path: at, value } of current) {
      if ("key" in step) {
        if (value && typeof value === "object" && !Array.isArray(value) && Object.hasOwn(value, step.key)) {
          next.push({ path: join(at, step.key), value: (value as Record<string, unknown>)[step.key] });
        }
      } else if ("index" in step) {
        if (Array.isArray(value) && step.index < value.length) next.push({ path: `${at}[${step.index}]`, value: value[step.index] });
      } else if (Array.isArray(value)) {
        value.forEach((v, i) => next.push({ path: `${at}[${i}]`, value: v }));
      } else if (value && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) next.push({ path: join(at, k), value: v });
      }
    }
    current = next;
  }
  return current;
}
