// Stylesheets are imported for esbuild, which bundles them into explorer.css.
declare module "*.css";
