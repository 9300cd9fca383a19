// Which form field an API error is about. The server's InvalidParameter sentences start with the
// JSON path of the field at fault ("storage_info.bucket_name must be ..."), and an unknown base
// model or weight type is a NotFound about the base; anything else belongs to the whole form.

const PATHS = [
  ["storage_info.bucket_name", "bucket_name"],
  ["storage_info.object_key", "object_key"],
  ["display_name", "display_name"],
  ["weight_type", "weight_type"],
  ["model_name", "model_name"],
];

/** The create body's field name ("bucket_name", "model_name", ...) the error names, or null. */
export function fieldOf(error) {
  const message = error?.message ?? "";
  if (error?.code === "InvalidParameter") {
    for (const [path, field] of PATHS) {
      if (message.startsWith(path) && /^[\s:.]/.test(message.slice(path.length))) return field;
    }
    return null;
  }
  if (error?.code === "NotFound" && message.startsWith("The base model ")) {
    return message.includes("does not accept weight_type") ? "weight_type" : "model_name";
  }
  return null;
}
