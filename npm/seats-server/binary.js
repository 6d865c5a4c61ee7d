'use strict';
// Where this machine's seats binary is: $SEATS_BINARY, else the platform package that npm
// installed through optionalDependencies (biome's pattern: no postinstall, no download).

const path = require('node:path');

const PACKAGES = {
  'linux-x64': 'seats-server-linux-x64',
};

function binaryPath() {
  if (process.env.SEATS_BINARY) {
    return process.env.SEATS_BINARY;
  }
  const platform = `${process.platform}-${process.arch}`;
  const pkg = PACKAGES[platform];
  if (!pkg) {
    throw new Error(`seats-server has no binary for ${platform} (there is one for: ${Object.keys(PACKAGES).join(', ')})`);
  }
  try {
    return require.resolve(`${pkg}/bin/seats`);
  } catch {
    throw new Error(
      `the seats binary package ${pkg} is not installed: install seats-server without --no-optional, or set SEATS_BINARY`,
    );
  }
}

module.exports = { binaryPath };
