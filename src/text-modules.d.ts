// esbuild embeds these files as strings (scripts/build.mjs, loader "text").
declare module '*.rb' {
  const content: string;
  export default content;
}
declare module '*.ddl' {
  const content: string;
  export default content;
}
