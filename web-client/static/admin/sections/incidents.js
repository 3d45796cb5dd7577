// Incidents an operator posts and updates for the status page.

export default [];
