// Issue 4 proof with Debian's Caddy (`forward_auth`), configured from docs/proxies/Caddyfile.
import { defineProxySuite } from "./cases";

defineProxySuite("caddy");
