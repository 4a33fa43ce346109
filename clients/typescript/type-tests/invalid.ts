// Calls the API's types must refuse: the Go test compiles this file and
// expects exactly these errors (each line marked ERROR below).
import createClient from "openapi-fetch";
import type { paths } from "../src/schema.js";

const client = createClient<paths>({ baseUrl: "http://localhost:8000" });

// An event type that is not one of GitHub's.
await client.GET("/metrics/event-avg-time", { params: { query: { event_type: "NoSuchEvent" } } }); // ERROR TS2322

// The window, offset, is required.
await client.GET("/metrics/events-total-count", { params: { query: {} } }); // ERROR TS2741

// A path the API does not have.
await client.GET("/metrics/no-such-metric", {}); // ERROR TS2345

// A metric's answer has no such field.
const { data } = await client.GET("/metrics/multiple-events-repos", { params: { query: { event_type: "WatchEvent" } } });
console.log(data?.repositories[0]?.stars); // ERROR TS2339
