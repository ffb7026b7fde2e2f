/** @type {import('next').NextConfig} */
const nextConfig = {
  // The sandbox's host stand-ins and the generated Prisma client are read at run time from the repo.
  serverExternalPackages: ["fauxqs"],
  devIndicators: false,
};

export default nextConfig;
