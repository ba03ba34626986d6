// Sends N events to a HEC endpoint with Splunk's splunk-logging library, in
// batches of 10: node send.js URL TOKEN N. Exits 0 once every batch was
// answered with success.
const SplunkLogger = require("splunk-logging").Logger;
const [url, token, n] = process.argv.slice(2);
const logger = new SplunkLogger({ token: token, url: url, maxBatchCount: 0, maxRetries: 2 });
let failed = 0;
logger.error = (err) => { failed++; console.error("send failed:", err.message || err); };
for (let i = 0; i < Number(n); i++) {
  logger.send({
    message: { event_type: "audit", exe: "/usr/bin/node", user: "hec", seq: i },
    metadata: { host: "sender-host", sourcetype: "threatstack" },
  });
}
logger.flush((err, resp, body) => {
  if (err || !resp || resp.statusCode !== 200) {
    console.error("flush:", err, resp && resp.statusCode, body);
    process.exit(1);
  }
  console.log(typeof body === "string" ? body : JSON.stringify(body));
  process.exit(failed ? 1 : 0);
});
setTimeout(() => { console.error("timed out"); process.exit(2); }, 20000);
