// The layers of src/, bottom first (docs/ARCHITECTURE.md draws them). A folder may import
// only folders of lower tiers: never one above it, and never a peer of its own tier, so
// that each layer can be understood (and tested) with only what lies below it.
// `npm test` runs this check (`npm run check:layers`).
const TIERS = [
  ['core', 'model', 'version.ts', 'text-modules.d.ts'], // errors, request, reply, scope; VM classes; the version
  ['ddl'], //                 the DDL: types, registry, validators, generators
  ['config'], //              hvagent.yaml
  ['process'], //             the one process runner and its ToolError
  ['files'], //               locks, path containment
  ['libvirt'], //             virsh, parsers, domains on both connections, host facts
  ['storage'], //             pools, plugins, volumes
  ['templates', 'network', 'monitoring', 'cloudinit'],
  ['vm'], //                  VM operations: power, resources, snapshots, delete, migration
  ['provisioning'], //        a whole VM from one typed request, with rollback
  ['recovery'], //            finishing the rollback of a killed request (the intent journal)
  ['agents'], //              thin: DDL inputs → operations → DDL outputs
  ['dispatch'], //            validate, authorize, deadline, job records, running requests
  ['adapter'], //             one per protocol: Choria, MCollective, stdio, CLI
  ['warm-up.ts'], //          the code caches' warm-up (scripts/loader.cjs)
  ['main.ts', 'build'], //    wiring, and the build-time tools
];

const pathOf = (name) => `^src/${name.replace(/\./g, '\\.')}${name.endsWith('.ts') ? '$' : '/'}`;
const any = (names) => `(${names.map(pathOf).join('|')})`;

const forbidden = TIERS.flatMap((tier, level) => {
  const above = TIERS.slice(level + 1).flat();
  return tier.flatMap((name) => {
    const peers = tier.filter((other) => other !== name);
    return [
      ...(above.length
        ? [{ name: `layer-${name}-up`, comment: `${name} is below ${above.join(', ')} and may not import them`, severity: 'error', from: { path: pathOf(name) }, to: { path: any(above) } }]
        : []),
      ...(peers.length
        ? [{ name: `layer-${name}-peer`, comment: `${name} may not import its peers ${peers.join(', ')}`, severity: 'error', from: { path: pathOf(name) }, to: { path: any(peers) } }]
        : []),
    ];
  });
});

module.exports = {
  forbidden: [
    ...forbidden,
    {
      name: 'dispatch-is-handed-its-agents',
      comment: 'dispatch and the adapters are handed the agents by main.ts: they know only the handler contract',
      severity: 'error',
      from: { path: '^src/(dispatch|adapter)/' },
      to: { path: '^src/agents/', pathNot: '^src/agents/contract\\.ts$' },
    },
    { name: 'no-circular', severity: 'error', comment: 'modules that import each other cannot be read or loaded one at a time', from: {}, to: { circular: true } },
    { name: 'src-not-tests', severity: 'error', from: { path: '^src/' }, to: { path: '^(test|bench)/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(build|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.cjs', '.mjs'] },
  },
};
