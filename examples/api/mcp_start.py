# Start a Holdfast account as an MCP client (the official MCP Python SDK) and hand its
# ws_endpoint on, as an agent would to Playwright MCP (--cdp-endpoint).
# usage: python mcp_start.py TEMPLATE     (holdfast serve must be running)
import asyncio, json, os, sys
from mcp import ClientSession
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

home = os.environ.get("HOLDFAST_HOME") or os.path.expanduser("~/.local/share/holdfast")
api = json.load(open(os.path.join(home, "api.json")))  # {"url", "token"}, mode 0600

async def main(name):
    http = create_mcp_http_client(headers={"Authorization": "Bearer " + api["token"]})
    async with http, streamable_http_client(api["url"] + "/mcp", http_client=http) as (read, write, *_):
        async with ClientSession(read, write) as mcp:
            await mcp.initialize()
            print("tools:", sorted(t.name for t in (await mcp.list_tools()).tools))
            started = await mcp.call_tool("start", {"name": name})
            print("ws_endpoint:", started.structured_content["ws_endpoint"])
            stopped = await mcp.call_tool("stop", {"name": name})
            print("stopped:", not stopped.is_error)

asyncio.run(main(sys.argv[1]))
