// Start a Holdfast account through the local API and drive it with Puppeteer (Node).
// usage: node puppeteer_start.mjs TEMPLATE URL     (holdfast serve must be running)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

const home = process.env.HOLDFAST_HOME || path.join(os.homedir(), ".local/share/holdfast");
const api = JSON.parse(fs.readFileSync(path.join(home, "api.json"), "utf8")); // mode 0600
const call = async (p, body = {}) => (await fetch(api.url + p, {
  method: "POST", body: JSON.stringify(body),
  headers: { Authorization: `Bearer ${api.token}`, "Content-Type": "application/json" },
})).json();

const [name, url] = process.argv.slice(2);
const session = await call(`/v1/templates/${name}/start`, { headless: true });
try {
  const browser = await puppeteer.connect({ browserWSEndpoint: session.ws_endpoint });
  const page = await browser.newPage();
  await page.goto(url);
  console.log(await page.title(), "|", await page.$eval("body", (b) => b.innerText));
  await browser.disconnect(); // the browser stays Holdfast's: stop it through the API
} finally {
  await call(`/v1/templates/${name}/stop`);
}
