// Swagger UI for ShrinkWatch's API, from the package's own files (swagger-ui-dist 5.35.0, Apache-2.0: LICENSE,
// NOTICE): no CDN, no validator badge (it would call validator.swagger.io), so the page works offline.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
});
