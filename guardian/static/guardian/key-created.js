// The new key's field selects itself on click (no inline handler: the CSP forbids them).
document.addEventListener("DOMContentLoaded", () => {
  const field = document.getElementById("api-key-plaintext");
  if (field) field.addEventListener("click", () => field.select());
});
