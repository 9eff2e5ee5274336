// The build writes manifests for the gateway's copy (dist/widget) and the package (widget/dist):
// neither run may rewrite a package.json, which each names by hand.
export default { packagejson: false };
