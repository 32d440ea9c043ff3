"""Pure tensor code: metrics, losses, sorting relaxations, masking and reduction helpers."""
