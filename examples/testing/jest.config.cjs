// Jest for the example (run with NODE_OPTIONS=--experimental-vm-modules: the sources are ES
// modules). `meshlet-node/testing` maps to the sources in this checkout; an installed package
// needs no mapping. `./x.js` imports of TypeScript files map to `./x`.
const { resolve } = require('node:path');

module.exports = {
  rootDir: resolve(__dirname, '../..'),
  testMatch: ['<rootDir>/examples/testing/jest.spec.ts'],
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': resolve(__dirname, 'jest-esbuild.cjs') },
  moduleNameMapper: {
    '^meshlet-node/testing$': '<rootDir>/src/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testTimeout: 30000,
};
