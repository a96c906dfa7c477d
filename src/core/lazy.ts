// A value made on first use: an XML parser or builder instantiated at module level would
// load the vendor piece (fast-xml-parser) for every request whose handler merely imports
// the module, as `vm list` imports the domain parser it needs only for containers.

export function lazy<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
