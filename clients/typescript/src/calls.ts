// Calls every endpoint of the ghevents API through the client that
// openapi-typescript generated (schema.d.ts) and openapi-fetch, and prints
// what each answered as one JSON object: the Go test compares it with the
// Go client's answers.
//
//   node dist/calls.js http://127.0.0.1:8000
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Answer = { status: number; etag: string | null; body: unknown };

const baseUrl = process.argv[2];
if (!baseUrl) {
  console.error("usage: node dist/calls.js BASE_URL");
  process.exit(2);
}
const client = createClient<paths>({ baseUrl });
const answers: Record<string, Answer> = {};

function record(name: string, response: Response, body: unknown): void {
  answers[name] = { status: response.status, etag: response.headers.get("ETag"), body };
}

// The metrics, with typed answers: reading a field the type declares.
{
  const { data, error, response } = await client.GET("/metrics/event-avg-time", {
    params: { query: { event_type: "PushEvent" } },
  });
  const avg: number | null | undefined = data?.avg_time_seconds;
  record("event-avg-time", response, data ?? error);
  if (avg === undefined) throw new Error("no average in " + JSON.stringify(error));

  // The ETag sent back: 304, no body.
  const etag = response.headers.get("ETag") ?? "";
  const again = await client.GET("/metrics/event-avg-time", {
    params: { query: { event_type: "PushEvent" }, header: { "If-None-Match": etag } },
  });
  record("event-avg-time-304", again.response, null);
}
{
  const { data, error, response } = await client.GET("/metrics/event-avg-time", {
    params: { query: { event_type: "PullRequestEvent", action: "opened", repository_name: "pbatard/rufus" } },
  });
  record("event-avg-time-filtered", response, data ?? error);
}
{
  const { data, error, response } = await client.GET("/metrics/events-total-count", {
    params: { query: { offset: 7200 } },
  });
  const total: number | undefined = data?.total;
  record("events-total-count", response, data ?? error);
  if (total === undefined) throw new Error("no total");
}
{
  const { data, error, response } = await client.GET("/metrics/multiple-events-repos", {
    params: { query: { event_type: "PushEvent", minimal_events_count: 5, limit: 20 } },
  });
  const first: components["schemas"]["RepoEvents"] | undefined = data?.repositories[0];
  record("multiple-events-repos", response, data ?? error);
  if (!first) throw new Error("no repository");
}
// The timeline of the stored hour, per minute, and its trending repositories.
{
  const { data, error, response } = await client.GET("/metrics/events-timeline", {
    params: { query: { offset: 3600, until: "2015-01-01T01:00:00Z", bucket: "minute", event_type: "WatchEvent" } },
  });
  const first: components["schemas"]["TimelineBucket"] | undefined = data?.buckets[0];
  record("events-timeline", response, data ?? error);
  if (!first) throw new Error("no bucket");
}
{
  const { data, error, response } = await client.GET("/metrics/multiple-events-repos", {
    params: { query: { event_type: "WatchEvent", minimal_events_count: 1, offset: 3600, until: "2015-01-01T01:00:00Z" } },
  });
  const since: string | undefined = data?.since;
  record("multiple-events-repos-window", response, data ?? error);
  if (!since) throw new Error("no window");
}
// A bad parameter: the documented problem, typed.
{
  const { error, response } = await client.GET("/metrics/events-total-count", {
    params: { query: { offset: 0 } },
  });
  const location: string | null | undefined = error?.errors?.[0]?.location;
  const type: string | undefined = error?.type;
  record("events-total-count-422", response, error);
  if (location !== "query.offset" || type !== "about:blank") throw new Error("unexpected problem " + JSON.stringify(error));
}
// The chart pages, declared text/html: read as text.
for (const [name, path] of [
  ["visualization", "/visualization"],
  ["visualization-event-avg-time", "/visualization/event-avg-time"],
  ["visualization-events-total-count", "/visualization/events-total-count"],
  ["visualization-multiple-events-repos", "/visualization/multiple-events-repos"],
  ["visualization-events-timeline", "/visualization/events-timeline"],
] as const) {
  let result;
  switch (path) {
    case "/visualization":
      result = await client.GET(path, { parseAs: "text" });
      break;
    case "/visualization/event-avg-time":
      result = await client.GET(path, { params: { query: { event_type: "WatchEvent", scale: "linear" } }, parseAs: "text" });
      break;
    case "/visualization/events-total-count":
      result = await client.GET(path, { params: { query: { offset: 7200 } }, parseAs: "text" });
      break;
    case "/visualization/multiple-events-repos":
      result = await client.GET(path, { params: { query: { event_type: "ForkEvent" } }, parseAs: "text" });
      break;
    case "/visualization/events-timeline":
      result = await client.GET(path, { params: { query: { offset: 3600, bucket: "minute", cumulative: true } }, parseAs: "text" });
      break;
  }
  const html: string | undefined = result.data;
  record(name, result.response, html ?? result.error);
}
console.log(JSON.stringify(answers));
