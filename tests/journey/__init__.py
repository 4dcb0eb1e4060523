"""The giving journey (issue 15): form, proof and sharing, after the gift, embed, craft."""
