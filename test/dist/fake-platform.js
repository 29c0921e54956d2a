'use strict';
/**
 * Preload (node --require) that makes this process look like another platform to runner-native,
 * for the failure-path tests of platforms this machine is not:
 *   FAKE_ARCH=ppc64   process.arch reports it
 *   FAKE_LIBC=musl    Node's report looks like musl's (no glibc version, the musl loader among
 *                     the shared objects), which is how lib/platforms.js and npm detect musl
 */
if (process.env.FAKE_ARCH) Object.defineProperty(process, 'arch', { value: process.env.FAKE_ARCH });

if (process.env.FAKE_LIBC === 'musl') {
  const getReport = process.report.getReport.bind(process.report);
  process.report.getReport = (...args) => {
    const report = getReport(...args);
    delete report.header.glibcVersionRuntime;
    report.sharedObjects = [`/lib/ld-musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`];
    return report;
  };
}
