// How numbers, sizes and times read on the page. Sizes are binary (MiB), as the CLI prints them.

const UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(count) {
  if (typeof count !== "number" || !Number.isFinite(count)) return "—";
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${count.toLocaleString("en-US")} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

export function formatCount(count) {
  return typeof count === "number" ? count.toLocaleString("en-US") : "—";
}

/** 7_615_616_512 -> "7.62 B"; for parameter counts. */
export function formatParameters(count) {
  if (typeof count !== "number") return "—";
  if (count >= 1e9) return `${(count / 1e9).toFixed(2)} B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(1)} M`;
  return count.toLocaleString("en-US");
}

/** The server's "2026-11-28T12:00:00.000+00:00" as "2026-11-28 12:00:00 UTC": one clock for everyone. */
export function formatTime(wire) {
  if (typeof wire !== "string") return "—";
  const when = new Date(wire);
  if (Number.isNaN(when.getTime())) return wire;
  return `${when.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** bytes_done / bytes_total as a whole percentage, or null while the total is unknown. */
export function percent(done, total) {
  if (typeof total !== "number" || total <= 0 || typeof done !== "number") return null;
  return Math.min(100, Math.max(0, Math.floor((done / total) * 100)));
}
