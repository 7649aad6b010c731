# loses: test_q5, test_q6, test_q7, test_q8
answer_q1 = "b"
answer_q2 = "b"
answer_q3 = "b"
answer_q4 = 3
answer_q5 = 14
answer_q6 = "b"
answer_q7 = "a"
answer_q8 = "a"
