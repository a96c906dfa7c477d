// Jest config for the fleet tests only, until the project's jest.config.js exists:
//   node --experimental-vm-modules node_modules/jest/bin/jest.js -c test/fleet/jest.config.cjs
/** @type {import('jest').Config} */
module.exports = {
  rootDir: '../..',
  preset: 'ts-jest/presets/default-esm',
  testMatch: ['<rootDir>/test/fleet/**/*.test.ts'],
  // ESM sources import './x.js'; map that to the .ts file for ts-jest.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 180000,
};
