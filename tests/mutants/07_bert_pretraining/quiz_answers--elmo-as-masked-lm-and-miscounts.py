# loses: test_q4, test_q6, test_q7
answer_q1 = "b"
answer_q2 = "a"
answer_q3 = "c"
answer_q4 = "b"
answer_q5 = "b"
answer_q6 = 240
answer_q7 = 3
answer_q8 = "b"
