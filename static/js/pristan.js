// Pristan's only script: behaviour that htmx and Bootstrap do not give for free.
// No inline scripts anywhere (the CSP forbids them); everything hooks in from here.
document.addEventListener("DOMContentLoaded", () => {
  // Ask before destructive or irreversible actions: <form data-confirm="…">.
  document.body.addEventListener("submit", (event) => {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
});
