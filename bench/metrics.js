#!/usr/bin/env node
// GET /metrics (docs/operations.md): what a scraper costs the message path. The fan-out of
// bench/compare (natsync_loadgen: 1 topic x SUBSCRIBERS, window 16, 64 B) on a fresh
// server, without and with a scraper asking /metrics every second, interleaved (without,
// with, without, …) so that the machine's drift hits both alike; REPEAT runs each, the
// median kept. Each scrape's time is recorded too.
//
//   node bench/metrics.js [--smoke] [--repeat N]
// NATSYNC_BIN and NATSYNC_LOADGEN pick the binaries (default build/).
'use strict';
const { startServer, fanout, median, benchOptions } = require('./lib/fanout');

const { smoke, repeat: REPEAT } = benchOptions();
const SUBSCRIBERS = smoke ? 50 : 1000;
const SECONDS = smoke ? 1 : 5;

async function run(scraped) {
  const server = await startServer({ METRICS_PUBLIC: 'on' });
  const scrapes = [];
  let scraping = scraped;
  const scraper = (async () => {
    while (scraping) {
      const started = process.hrtime.bigint();
      const response = await fetch(`${server.http}/metrics`);
      const text = await response.text();
      if (response.status !== 200 || !text.includes('natsync_deliveries_total')) throw new Error(`scrape: ${response.status}`);
      scrapes.push(Number(process.hrtime.bigint() - started) / 1e6);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  const result = await fanout(server.url, server.child.pid, SUBSCRIBERS, SECONDS);
  scraping = false;
  await scraper;
  await server.stop();
  if (result.lost > 0 || result.out_of_order > 0 || result.error) throw new Error(JSON.stringify(result).slice(0, 300));
  return { deliveries: result.deliveries_per_s, scrapes };
}

async function main() {
  const without = [];
  const withScraper = [];
  const scrapeMs = [];
  for (let i = 0; i < REPEAT; i++) {
    without.push((await run(false)).deliveries);
    const scraped = await run(true);
    withScraper.push(scraped.deliveries);
    scrapeMs.push(...scraped.scrapes);
  }
  const result = {
    subscribers: SUBSCRIBERS, window: 16, seconds: SECONDS, repeat: REPEAT,
    deliveries_per_s: { without_scraper: Math.round(median(without)), scraper_every_1s: Math.round(median(withScraper)) },
    runs: { without_scraper: without.map(Math.round), scraper_every_1s: withScraper.map(Math.round) },
    scrape_ms: { count: scrapeMs.length, p50: Number(median(scrapeMs).toFixed(2)), max: Number(Math.max(...scrapeMs).toFixed(2)) },
  };
  process.stderr.write(`  fanout without a scraper ${result.deliveries_per_s.without_scraper}/s (runs ${result.runs.without_scraper.join(', ')}), ` +
    `with one every 1 s ${result.deliveries_per_s.scraper_every_1s}/s (runs ${result.runs.scraper_every_1s.join(', ')}); ` +
    `a scrape ${result.scrape_ms.p50} ms at p50\n`);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error) => { console.error(error); process.exit(1); });
