// Two projects: `unit` needs nothing but Node; `integration` drives the built agent
// (dist/hvagent.cjs), real libvirtd, qemu-img and a real MCollective fleet.
const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, isolatedModules: true }] },
  testEnvironment: 'node',
};

export default {
  testTimeout: 240_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/test/integration/**/*.test.ts',
        '<rootDir>/test/libvirt/**/*.test.ts',
        '<rootDir>/test/fleet/**/*.test.ts',
        '<rootDir>/test/vm/**/*.test.ts',
        '<rootDir>/test/storage/**/*.test.ts',
        '<rootDir>/test/templates/**/*.test.ts',
        '<rootDir>/test/provisioning/**/*.test.ts',
        '<rootDir>/test/network/**/*.test.ts',
        '<rootDir>/test/monitoring/**/*.test.ts',
        '<rootDir>/test/migration/**/*.test.ts',
        '<rootDir>/test/cloudinit/**/*.test.ts',
        '<rootDir>/test/rest/**/*.test.ts',
        '<rootDir>/test/package/**/*.test.ts',
      ],
    },
  ],
};
