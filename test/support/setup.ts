// Loaded by .mocharc before any test: a failed closure serialization or a forgotten promise
// otherwise surfaces only as a mocha timeout.
process.on("unhandledRejection", (reason) => {
  console.error("Unhandled rejection:", reason);
  throw reason;
});
