/**
 * What the fake outside-world servers share: a log of the requests they answered, and a plan of
 * faults by path prefix (the longest matching prefix wins; `times` limits how often it fires).
 */
export interface FaultPlan<F> {
  /** Sets (or with `null` clears) the fault for paths starting with `pathPrefix`. */
  setFault(pathPrefix: string, fault: F | null, o?: { times?: number }): void;
  clearFaults(): void;
  /** The fault to play for this path now, if any (and counts it down). */
  take(path: string): F | undefined;
}

export function faultPlan<F>(): FaultPlan<F> {
  const faults = new Map<string, { fault: F; times: number }>();
  return {
    setFault(pathPrefix, fault, o = {}) {
      if (fault === null) faults.delete(pathPrefix);
      else faults.set(pathPrefix, { fault, times: o.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults() {
      faults.clear();
    },
    take(path) {
      let best: string | undefined;
      for (const k of faults.keys()) if (path.startsWith(k) && (!best || k.length > best.length)) best = k;
      if (best === undefined) return undefined;
      const f = faults.get(best) as { fault: F; times: number };
      if (f.times !== Number.POSITIVE_INFINITY && --f.times <= 0) faults.delete(best);
      return f.fault;
    },
  };
}

/** Requests answered, with a count by path prefix. */
export function requestLog<R extends { path: string }>() {
  const requests: R[] = [];
  return {
    requests,
    count(prefix?: string) {
      return prefix === undefined ? requests.length : requests.filter((r) => r.path.startsWith(prefix)).length;
    },
    resetRequests() {
      requests.length = 0;
    },
  };
}
