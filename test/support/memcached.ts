// The repository's tests start memcached the way users of `serverless-cache/testing` do.
export { startMemcached, freePort, waitForPort, type MemcachedServer } from "../../testing/memcached";
